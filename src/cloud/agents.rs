//! Listing a project's service agents: the read-only accounts KakaoCloud creates when a service
//! is used in a project. kcform never plans them; `import` shows them as comments.

use crate::wire;

use super::{Client, CloudError, routes};

impl Client {
    /// A project's service agents, ordered by service.
    pub async fn list_service_agents(
        &self,
        project_id: &str,
    ) -> Result<Vec<wire::ServiceAgent>, CloudError> {
        self.list_all(
            &routes::service_agents(project_id),
            &[],
            |page: wire::ServiceAgentList| {
                (page.service_agents, super::Paging::Offsets(page.pagination))
            },
        )
        .await
    }
}
