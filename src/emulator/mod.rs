//! The built-in emulator: a reference KakaoCloud IAM server (axum) implementing `docs/api.md`.
//! (Being written; see the helper brief.)
