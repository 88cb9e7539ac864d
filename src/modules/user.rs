use super::{Decision, PlanCx, PlanError};
pub fn plan_user(_cx: &PlanCx) -> Result<Decision, PlanError> {
    Err(PlanError::Fail("todo".into()))
}
pub fn plan_group(_cx: &PlanCx) -> Result<Decision, PlanError> {
    Err(PlanError::Fail("todo".into()))
}
