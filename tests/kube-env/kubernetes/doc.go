// Placeholder so the module has a package; the binaries are built from
// k8s.io/kubernetes/cmd/... by scripts/testenv.
package kubeenv
