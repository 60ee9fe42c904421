//! Bylines: `（山西日报记者 陈俊琦）`, `（记者 张华 通讯员 刘强）`,
//! `（记者 张华 李明）`. The reporters (`记者`) are the author; 通讯员,
//! 实习生 and the like contribute but are not part of the name.

/// Roles that are not the author.
const OTHERS: &[&str] = &["通讯员", "实习生", "摄影", "摄", "编辑", "校对"];

/// The reporters named in the first parenthesis of `s` that names one,
/// joined with `、`.
pub fn reporters(s: &str) -> Option<String> {
    let inner = parentheses(s).find(|p| p.contains("记者"))?;
    let mut names: Vec<&str> = Vec::new();
    let mut reporting = false;
    for token in inner
        .split([' ', '\u{3000}', '、', '，', ','])
        .filter(|t| !t.is_empty())
    {
        if let Some(i) = token.rfind("记者") {
            reporting = true;
            // `记者张华`: a name written against its role.
            let name = &token[i + "记者".len()..];
            if !name.is_empty() {
                names.push(name);
            }
        } else if OTHERS.iter().any(|r| token.contains(r)) {
            reporting = false;
        } else if reporting {
            names.push(token);
        }
    }
    (!names.is_empty()).then(|| names.join("、"))
}

/// `s` without its bylines (a parenthesis naming a 记者 or 通讯员), for a title.
pub fn without(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find(['（', '(']) {
        let after = &rest[open..];
        let close = after.find(['）', ')']);
        match close {
            Some(end) if is_byline(&after[..end]) => {
                out.push_str(&rest[..open]);
                let close_len = after[end..].chars().next().map_or(1, char::len_utf8);
                rest = &after[end + close_len..];
            }
            _ => {
                let open_len = after.chars().next().map_or(1, char::len_utf8);
                out.push_str(&rest[..open + open_len]);
                rest = &after[open_len..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn is_byline(inner: &str) -> bool {
    inner.contains("记者") || OTHERS.iter().any(|r| inner.contains(r))
}

/// The text inside each `（…）` or `(…)` of `s`.
fn parentheses(s: &str) -> impl Iterator<Item = &str> {
    s.split(['（', '('])
        .skip(1)
        .filter_map(|p| p.split_once(['）', ')']).map(|(inner, _)| inner))
}

#[cfg(test)]
mod tests {
    use super::reporters;

    #[test]
    fn reporters_only() {
        for (line, author) in [
            ("本报讯（山西日报记者 陈俊琦）1月14日下午，", Some("陈俊琦")),
            ("（记者 张华 通讯员 刘强）", Some("张华")),
            ("（记者 张华 李明 通讯员 刘强）", Some("张华、李明")),
            ("（记者 张华、李明）", Some("张华、李明")),
            ("（通讯员 刘强 记者 张华）", Some("张华")),
            ("（记者张华 实习生王芳）", Some("张华")),
            ("（太原日报记者　赵一）", Some("赵一")),
            ("（通讯员 刘强）", None),
            ("没有署名。", None),
        ] {
            assert_eq!(reporters(line).as_deref(), author, "{line}");
        }
    }

    #[test]
    fn titles_lose_their_bylines_only() {
        assert_eq!(
            super::without("召开会议（记者 李明 实习生 王芳），部署（一）工作"),
            "召开会议，部署（一）工作"
        );
        assert_eq!(super::without("未闭合（记者"), "未闭合（记者");
    }
}
