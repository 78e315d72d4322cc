package natsbus_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkDurability measures what the durability of an acknowledged event
// costs (see "What an acknowledged event survives" in the README): the
// bridge in confirm and pipelined mode, from one emitter, on a cluster of
// three server processes fsyncing at nats-server's default (every 2
// minutes), every second, or on every write, with a stream of 1 replica
// and one of 3. Each cluster is started once per fsync setting; both
// streams live on it.
func BenchmarkDurability(b *testing.B) {
	for _, sync := range []string{"default", "1s", "always"} {
		b.Run("sync="+sync, func(b *testing.B) {
			url := startBenchCluster(b, sync)
			for _, replicas := range []int{1, 3} {
				for _, mode := range []string{"confirm", "pipelined"} {
					b.Run(fmt.Sprintf("replicas=%d/%s", replicas, mode), func(b *testing.B) {
						measure(b, pacing{"emitters=1", 1, 0}, func(onEvent func(int64)) transport {
							return bridgeTransport(b, url, replicas, mode == "pipelined", onEvent)
						})
					})
				}
			}
		})
	}
}

// startBenchCluster starts three JetStream servers, each a process of its
// own, routed directly to each other and fsyncing as sync says, and
// returns a client URL naming them all.
func startBenchCluster(b *testing.B, sync string) string {
	const n = 3
	dir := b.TempDir()
	ports := freePorts(b, 2*n)
	var clusterURLs, clientURLs []string
	for i := range n {
		clusterURLs = append(clusterURLs, fmt.Sprintf("nats-route://127.0.0.1:%d", ports[n+i]))
		clientURLs = append(clientURLs, fmt.Sprintf("nats://127.0.0.1:%d", ports[i]))
	}
	for i := range n {
		spec := serverSpec{Name: fmt.Sprint("s", i), Port: ports[i], ClusterPort: ports[n+i], Routes: clusterURLs, Dir: filepath.Join(dir, fmt.Sprint("s", i))}
		if sync != "default" {
			spec.Sync = sync
		}
		p := newProc(b, dir, spec.Name, "server", func(int) any { return spec })
		if err := p.start(30 * time.Second); err != nil {
			b.Fatal(err)
		}
	}
	url := ""
	for i, u := range clientURLs {
		if i > 0 {
			url += ","
		}
		url += u
	}
	return url
}
