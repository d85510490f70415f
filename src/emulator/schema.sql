-- The emulator's state: one SQLite database (docs/api.md#persistence). `PRAGMA user_version`
-- is the schema's version and `PRAGMA application_id` marks the file as kcform's. Only the
-- SHA-256 of a secret is stored, never the secret; tokens are not stored (a restart revokes
-- them). Every index below serves a route: see the comments.

-- The one organization (a Keystone domain) and its bootstrap Org Admin.
CREATE TABLE organization (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    -- Whether a payment method is registered (creating a project needs one).
    payment_method INTEGER NOT NULL CHECK (payment_method IN (0, 1)),
    -- The bootstrap Org Admin, and its current key (revoked and replaced at each start).
    admin_user_id TEXT NOT NULL REFERENCES users (id),
    bootstrap_key_id TEXT REFERENCES keys (id) ON DELETE SET NULL
);

-- Projects; listed by name (the UNIQUE index), names are immutable.
CREATE TABLE projects (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    nickname TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at TEXT NOT NULL
) WITHOUT ROWID;

-- Users: people of the organization (project_id and status NULL) and service accounts (both
-- set).
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    project_id TEXT REFERENCES projects (id),
    status TEXT CHECK (status IN ('active', 'inactive')),
    -- A person's organization-wide role.
    org_role TEXT CHECK (org_role IN ('org-admin', 'org-reader')),
    CHECK ((project_id IS NULL) = (status IS NULL)),
    CHECK (project_id IS NULL OR org_role IS NULL)
) WITHOUT ROWID;
-- A project's service accounts by name: the listing's order and paging, name lookups, the
-- per-project count; names are unique per project.
CREATE UNIQUE INDEX accounts_by_project ON users (project_id, name) WHERE project_id IS NOT NULL;
-- People by name, unique.
CREATE UNIQUE INDEX people_by_name ON users (name) WHERE project_id IS NULL;

-- A person's project roles.
CREATE TABLE role_grants (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id TEXT NOT NULL REFERENCES projects (id),
    role TEXT NOT NULL CHECK (role IN ('project-admin', 'project-member', 'project-reader')),
    PRIMARY KEY (user_id, project_id)
) WITHOUT ROWID;

-- Access keys (Keystone application credentials). The UNIQUE index lists an owner's keys by
-- name and keeps names unique per owner.
CREATE TABLE keys (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT,
    -- Hex SHA-256 of the secret.
    secret_sha256 TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'expired')),
    created_at TEXT NOT NULL,
    UNIQUE (user_id, name)
) WITHOUT ROWID;

-- Service agents (read-only through the API), one per project and service.
CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id),
    service TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (project_id, service)
) WITHOUT ROWID;
