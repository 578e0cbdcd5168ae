//! sprig functions davit does not implement. They exist so that a template
//! using them parses, and fail with a clear message when called, instead of
//! the confusing "function not defined" at parse time.

use super::Registry;
use crate::func::Param::*;

const UNSUPPORTED: &[(&str, &[crate::func::Param], Option<crate::func::Param>)] = &[
    ("genPrivateKey", &[Str], None),
    ("genCA", &[Str, Int], None),
    ("genCAWithKey", &[Str, Int, Str], None),
    ("genSelfSignedCert", &[Str, List, List, Int], None),
    (
        "genSelfSignedCertWithKey",
        &[Str, List, List, Int, Str],
        None,
    ),
    ("genSignedCert", &[Str, List, List, Int, Any], None),
    (
        "genSignedCertWithKey",
        &[Str, List, List, Int, Any, Str],
        None,
    ),
    ("buildCustomCert", &[Str, Str], None),
    ("derivePassword", &[Int, Str, Str, Str, Str], None),
    ("bcrypt", &[Str], None),
    ("htpasswd", &[Str, Str], None),
    ("encryptAES", &[Str, Str], None),
    ("decryptAES", &[Str, Str], None),
    ("getHostByName", &[Str], None),
];

pub fn register(r: &mut Registry) {
    for (name, params, variadic) in UNSUPPORTED {
        let n = name.to_string();
        r.add(name, params, *variadic, move |_| {
            Err(format!(
                "{n} is not supported by davit yet; compute the value outside the template and pass it in"
            ))
        });
    }
}
