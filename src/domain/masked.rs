//! A customer's email address as a page anyone holding its link may see: enough for its owner
//! to recognise it, not enough for someone the link was forwarded to to write to them.

/// `grace.hopper@example.com` → `g•••@example.com`: the first character of the local part and
/// the whole domain. An address without `@` keeps its first character only.
pub fn masked_email(address: &str) -> String {
    let (local, domain) = address.rsplit_once('@').unwrap_or((address, ""));
    let first: String = local.chars().take(1).collect();
    if domain.is_empty() { format!("{first}•••") } else { format!("{first}•••@{domain}") }
}

#[cfg(test)]
mod tests {
    use super::masked_email;

    #[test]
    fn keeps_the_first_character_and_the_domain() {
        assert_eq!(masked_email("grace.hopper@example.com"), "g•••@example.com");
        assert_eq!(masked_email("a@b.example"), "a•••@b.example");
        assert_eq!(masked_email("Über@bücher.example"), "Ü•••@bücher.example");
        assert_eq!(masked_email("\"odd@local\"@example.com"), "\"•••@example.com");
        assert_eq!(masked_email("nobody"), "n•••");
    }
}
