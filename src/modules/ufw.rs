use super::{Decision, PlanCx, PlanError};
pub fn plan(_cx: &PlanCx) -> Result<Decision, PlanError> {
    Err(PlanError::Fail("todo".into()))
}
