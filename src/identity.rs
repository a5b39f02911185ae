//! Who runs bmctl, as the operating system says.

use nix::unistd::{getuid, User};

/// The login of the process's real user (`getpwuid(getuid())`), not
/// `$USER`, which any caller may set; a uid with no passwd entry is `uid:N`.
pub fn login() -> String {
    let uid = getuid();
    match User::from_uid(uid) {
        Ok(Some(u)) => u.name,
        _ => format!("uid:{uid}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_login_is_the_passwd_name_of_the_uid() {
        let uid = nix::unistd::getuid().as_raw();
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        let listed = passwd.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.get(2) == Some(&uid.to_string().as_str())).then(|| f[0].to_string())
        });
        match listed {
            Some(name) => assert_eq!(super::login(), name),
            None => assert!(super::login().starts_with("uid:") || !super::login().is_empty()),
        }
    }
}
