package natsbus_test

import (
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
)

// proxy forwards TCP connections from its own port to a target address,
// so that a test can cut the link between two processes as a network
// partition would, and heal it, without touching either process.
type proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{} // both ends of every forwarded connection
	wg    sync.WaitGroup
}

// startProxy listens on a port of its own for connections to target, and
// stops when the test ends.
func startProxy(t testing.TB, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// addr is the address to connect to instead of the target's.
func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.forward(c)
	}
}

// forward joins c to a new connection to the target, unless the link is
// cut: then c is closed at once, as a connection refused.
func (p *proxy) forward(c net.Conn) {
	defer p.wg.Done()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.cut {
		p.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	p.conns[c], p.conns[up] = struct{}{}, struct{}{}
	p.mu.Unlock()
	var both sync.WaitGroup
	both.Add(2)
	pipe := func(dst, src net.Conn) {
		defer both.Done()
		io.Copy(dst, src)
		// One direction ended: end the other, as a broken link would.
		dst.Close()
		src.Close()
	}
	go pipe(up, c)
	go pipe(c, up)
	both.Wait()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

// setCut cuts the link, closing every connection through it and refusing
// new ones, or heals it.
func (p *proxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			c.Close()
		}
	}
}

func (p *proxy) close() {
	p.ln.Close()
	p.setCut(true)
	p.wg.Wait()
}

// routeMesh is a proxy for every ordered pair of a cluster's servers, so
// that a test can cut one server off from the others on the route port
// while its clients stay connected.
type routeMesh [][]*proxy // [j][i]: server j's way to server i

// newRouteMesh starts the proxies to the servers' cluster ports.
func newRouteMesh(t testing.TB, clusterPorts []int) routeMesh {
	m := make(routeMesh, len(clusterPorts))
	for j := range m {
		m[j] = make([]*proxy, len(clusterPorts))
		for i, port := range clusterPorts {
			if i != j {
				m[j][i] = startProxy(t, fmt.Sprintf("127.0.0.1:%d", port))
			}
		}
	}
	return m
}

// routes are server j's routes to the others, through the proxies.
func (m routeMesh) routes(j int) []string {
	var routes []string
	for i, p := range m[j] {
		if i != j {
			routes = append(routes, "nats-route://"+p.addr())
		}
	}
	return routes
}

// cut cuts server i off from the others, or heals it.
func (m routeMesh) cut(i int, cut bool) {
	for j := range m {
		if j != i {
			m[i][j].setCut(cut)
			m[j][i].setCut(cut)
		}
	}
}
