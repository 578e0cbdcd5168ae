//! werf's own vectors: `pkg/slug` and `deploy_params` tests (spec §5.3),
//! and what `werf render` printed for the release and namespace in the
//! render vectors.

use davit_deploy_params::{
    helm_release, kubernetes_namespace, namespace, release, DeployParamsError, DeploySettings,
};

#[test]
fn slug_vectors() {
    assert_eq!(helm_release("release.name"), "release.name");
    assert_eq!(helm_release("-data"), "data-a871d86e");
    assert_eq!(helm_release("da/ta"), "da-ta-afa96f8");
    assert_eq!(
        helm_release(&"x".repeat(54)),
        format!("{}-18c5dfb9", "x".repeat(44))
    );
    assert_eq!(kubernetes_namespace("da_ta"), "da-ta-3b339d14");
    assert_eq!(
        kubernetes_namespace("kubernetes.namespace"),
        "kubernetes-namespace-1507f75c"
    );
    assert_eq!(
        kubernetes_namespace(&"x".repeat(64)),
        format!("{}-afd4efcd", "x".repeat(54))
    );
    for s in ["-data", "da/ta", "Prod_EU", "kubernetes.namespace"] {
        assert_eq!(
            helm_release(&helm_release(s)),
            helm_release(s),
            "idempotent: {s}"
        );
        assert_eq!(
            kubernetes_namespace(&kubernetes_namespace(s)),
            kubernetes_namespace(s)
        );
    }
}

#[test]
fn deploy_params_vectors() {
    let d = DeploySettings::default();
    let ns = namespace("test-project", "", &d, None).expect("ns");
    assert_eq!(
        release("test-project", "", &ns, &d, None).expect("r"),
        "test-project"
    );
    let ns = namespace("test-project", "production", &d, None).expect("ns");
    assert_eq!(ns, "test-project-production");
    assert_eq!(
        release("test-project", "production", &ns, &d, None).expect("r"),
        "test-project-production"
    );
    let custom = DeploySettings {
        helm_release: Some("[[ project ]]-[[ env ]]-[[ namespace ]]".into()),
        namespace: Some("[[ env ]]-[[ project ]]".into()),
        ..DeploySettings::default()
    };
    assert_eq!(
        release(
            "test-project",
            "production",
            "some-namespace",
            &custom,
            None
        )
        .expect("r"),
        "test-project-production-some-namespace"
    );
    assert_eq!(
        namespace("test-project", "production", &custom, None).expect("ns"),
        "production-test-project"
    );
    assert_eq!(
        release("p", "", "ns", &d, Some("cannot_use_such_release_name")),
        Err(DeployParamsError::BadRelease(
            "cannot_use_such_release_name".into()
        ))
    );
    assert_eq!(
        namespace("p", "", &d, Some("cannot_use_such_namespace")),
        Err(DeployParamsError::BadNamespace(
            "cannot_use_such_namespace".into()
        ))
    );
}

/// render/deploy-names-and-env: `helmRelease: "[[ project ]]-[[ env ]]-rel"`,
/// `namespace: "ns-[[ env ]]"`, slugs on, `--env Prod_EU`; werf printed
/// `ns-prod-eu-d2211b21` and `vec-names-prod-eu-rel-ad73d78d`.
#[test]
fn what_werf_render_printed() {
    let s = DeploySettings {
        helm_release: Some("[[ project ]]-[[ env ]]-rel".into()),
        helm_release_slug: Some(true),
        namespace: Some("ns-[[ env ]]".into()),
        namespace_slug: Some(true),
    };
    let ns = namespace("vec-names", "Prod_EU", &s, None).expect("ns");
    assert_eq!(ns, "ns-prod-eu-d2211b21");
    assert_eq!(
        release("vec-names", "Prod_EU", &ns, &s, None).expect("r"),
        "vec-names-prod-eu-rel-ad73d78d"
    );
    let e = namespace(
        "p",
        "",
        &DeploySettings {
            namespace: Some("[[ env ".into()),
            ..DeploySettings::default()
        },
        None,
    )
    .expect_err("bad template");
    assert!(
        e.to_string()
            .starts_with("werf.yaml deploy.namespace: template: namespace:1"),
        "{e}"
    );
    let e = namespace(
        "p",
        "",
        &DeploySettings {
            namespace: Some("[[ env \"x\" ]]".into()),
            ..DeploySettings::default()
        },
        None,
    );
    assert!(e.is_err(), "env takes no arguments here: {e:?}");
}

/// render/default-names-slug: no `deploy:` section.
#[test]
fn default_names_as_werf_render_printed_them() {
    let d = DeploySettings::default();
    for (env, want) in [
        ("", "vec-default-names"),
        ("production", "vec-default-names-production"),
        (
            "review/feature_X.1",
            "vec-default-names-review-feature-x-1-cba1fa78",
        ),
    ] {
        let ns = namespace("vec-default-names", env, &d, None).expect("ns");
        assert_eq!(ns, want, "namespace for {env:?}");
        assert_eq!(
            release("vec-default-names", env, &ns, &d, None).expect("r"),
            want,
            "release for {env:?}"
        );
    }
}
