// Command etcd is the etcd server, built from the published go.etcd.io/etcd/server/v3
// module. etcd's own root module points its sub-modules at local directories, so it
// cannot be built through the module proxy directly; this wrapper calls its entry point.
//
// This build serves local test and development control planes only, so it never listens
// beyond loopback: kube-api-test asks etcd to listen on 0.0.0.0 and offers no setting to
// change that, so wildcard listen addresses are narrowed to 127.0.0.1 here.
package main

import (
	"os"
	"strings"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(loopbackOnly(os.Args))
}

func loopbackOnly(args []string) []string {
	out := make([]string, len(args))
	for i, arg := range args {
		out[i] = arg
		// Both "--listen-x=url" and "--listen-x url" forms are accepted by etcd.
		if isListenFlag(arg) || (i > 0 && isListenFlag(args[i-1])) {
			out[i] = strings.ReplaceAll(arg, "0.0.0.0", "127.0.0.1")
		}
	}
	return out
}

func isListenFlag(arg string) bool {
	return strings.HasPrefix(strings.TrimLeft(arg, "-"), "listen-") && strings.HasPrefix(arg, "-")
}
