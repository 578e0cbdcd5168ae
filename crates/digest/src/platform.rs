//! Target platforms as werf reads them (spec §8.4): `--platform` for every
//! image, else the image's `platform`, else `build.platform`, else the
//! default `linux/amd64`; values normalised as containerd does
//! (`arm64` → `linux/arm64`, `linux/arm64/v8` → `linux/arm64`,
//! `x86_64` → `amd64`, `local` → this host).

pub const DEFAULT: &str = "linux/amd64";

fn arch(a: &str) -> (String, Option<String>) {
    match a {
        "x86_64" | "x86-64" | "amd64" => ("amd64".into(), None),
        "aarch64" | "arm64" => ("arm64".into(), None),
        "armhf" | "arm" => ("arm".into(), Some("v7".into())),
        "armel" => ("arm".into(), Some("v6".into())),
        "i386" | "386" | "i686" => ("386".into(), None),
        other => (other.to_string(), None),
    }
}

fn host() -> String {
    let (a, v) = arch(std::env::consts::ARCH);
    match v {
        Some(v) => format!("linux/{a}/{v}"),
        None => format!("linux/{a}"),
    }
}

/// `os/arch[/variant]` in containerd's normal form.
pub fn normalize(p: &str) -> Result<String, String> {
    let p = p.trim().to_ascii_lowercase();
    if p == "local" {
        return Ok(host());
    }
    let parts: Vec<&str> = p.split('/').collect();
    let (os, a, variant) = match parts.as_slice() {
        [one] if ["linux", "windows", "darwin", "freebsd"].contains(one) => {
            let h = host();
            let (_, rest) = h.split_once('/').unwrap_or(("linux", "amd64"));
            return Ok(format!("{one}/{rest}"));
        }
        [a] => ("linux", *a, None),
        [os, a] => (*os, *a, None),
        [os, a, v] => (*os, *a, Some(v.to_string())),
        _ => {
            return Err(format!(
                "invalid platform {p:?}: expected OS/ARCH[/VARIANT]"
            ))
        }
    };
    if os.is_empty() || a.is_empty() {
        return Err(format!(
            "invalid platform {p:?}: expected OS/ARCH[/VARIANT]"
        ));
    }
    let (a, default_variant) = arch(a);
    let variant = match (a.as_str(), variant.as_deref()) {
        ("arm64", Some("v8")) | ("amd64", Some("v1")) => None,
        (_, Some(v)) => Some(v.to_string()),
        (_, None) => default_variant,
    };
    Ok(match variant {
        Some(v) => format!("{os}/{a}/{v}"),
        None => format!("{os}/{a}"),
    })
}

/// The platforms of an image, normalised and without repeats, in the
/// order given.
pub fn resolve(
    forced: &[String],
    image: &[String],
    meta: &[String],
) -> Result<Vec<String>, String> {
    let chosen = [forced, image, meta]
        .into_iter()
        .find(|list| !list.is_empty())
        .unwrap_or(&[]);
    let mut out: Vec<String> = Vec::new();
    for p in chosen {
        let n = normalize(p)?;
        if !out.contains(&n) {
            out.push(n);
        }
    }
    if out.is_empty() {
        out.push(DEFAULT.to_string());
    }
    Ok(out)
}

/// OS, architecture and variant of a normal-form platform.
pub fn parts(platform: &str) -> (&str, &str, Option<&str>) {
    let mut it = platform.split('/');
    let os = it.next().unwrap_or("linux");
    let arch = it.next().unwrap_or("amd64");
    (os, arch, it.next())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_forms() {
        assert_eq!(normalize("arm64").as_deref(), Ok("linux/arm64"));
        assert_eq!(normalize("linux/arm64/v8").as_deref(), Ok("linux/arm64"));
        assert_eq!(normalize("Linux/X86_64").as_deref(), Ok("linux/amd64"));
        assert_eq!(normalize("linux/arm").as_deref(), Ok("linux/arm/v7"));
        assert_eq!(normalize("linux/arm/v6").as_deref(), Ok("linux/arm/v6"));
        assert!(normalize("a/b/c/d").is_err());
        assert!(normalize("/amd64").is_err());
    }

    #[test]
    fn the_first_non_empty_list_wins() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(resolve(&[], &[], &[]), Ok(s(&["linux/amd64"])));
        assert_eq!(
            resolve(&[], &s(&["arm64", "linux/arm64/v8"]), &s(&["amd64"])),
            Ok(s(&["linux/arm64"]))
        );
        assert_eq!(
            resolve(&s(&["amd64"]), &s(&["arm64"]), &[]),
            Ok(s(&["linux/amd64"]))
        );
        assert_eq!(parts("linux/arm/v7"), ("linux", "arm", Some("v7")));
    }
}
