// etcd for davit's Kubernetes test environment. A wrapper module, because
// `go install go.etcd.io/etcd/server/v3` refuses a module with replace lines.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
