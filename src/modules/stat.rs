//! `stat`: report a path's state (read-only, answered from the probe).

use serde_json::json;

use super::mode;
use super::{Decision, PlanCx, PlanError};
use crate::probe::FileKind;

pub fn plan(cx: &PlanCx) -> Result<Decision, PlanError> {
    let path = cx.required_str("path")?;
    let follow = cx.bool_arg("follow", false)?;
    let st = cx.file(&path, follow)?;
    let stat = if st.exists() {
        let m = mode::parse_octal(&st.mode);
        json!({
            "exists": true,
            "path": path,
            "isdir": st.kind == FileKind::Directory,
            "isreg": st.kind == FileKind::File,
            "islnk": st.kind == FileKind::Link,
            "mode": mode::fmt(m),
            "pw_name": st.owner,
            "gr_name": st.group,
            "uid": st.uid,
            "gid": st.gid,
            "size": st.size,
            "checksum": st.sha256,
            "lnk_target": st.link_target,
            "lnk_source": st.link_target,
            "readable": true,
        })
    } else {
        json!({"exists": false})
    };
    let mut result = serde_json::Map::new();
    result.insert("changed".into(), json!(false));
    result.insert("stat".into(), stat);
    Ok(Decision::Ok { result, msg: None })
}
