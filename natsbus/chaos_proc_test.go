package natsbus_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// chaosRoleEnv makes the test binary one process of the fault suite: a
// server or a node, configured by the JSON in chaosSpecEnv. It prints
// "ready" once it serves, and stops when its standard input closes, or
// at once when the suite kills it.
const (
	chaosRoleEnv = "NATSBUS_CHAOS_ROLE"
	chaosSpecEnv = "NATSBUS_CHAOS_SPEC"
)

// runChaosRole runs the role the environment names and exits.
func runChaosRole(role string) {
	var err error
	switch role {
	case "server":
		err = runServer([]byte(os.Getenv(chaosSpecEnv)))
	case "node":
		err = runNode([]byte(os.Getenv(chaosSpecEnv)))
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// serverSpec is one server of the suite's cluster. Its routes go through
// proxies, so that the suite can cut it from the others.
type serverSpec struct {
	Name        string
	Port        int      // for clients
	ClusterPort int      // for routes from the other servers' proxies
	Routes      []string // nats-route:// URLs of the proxies to the others
	Dir         string   // its store, kept across restarts
	Sync        string   // how often it fsyncs: "" for nats-server's default (2 minutes), "always", or a duration
}

func runServer(spec []byte) error {
	var s serverSpec
	err := json.Unmarshal(spec, &s)
	if err != nil {
		return err
	}
	o := serverOptions(s.Dir, s.Port)
	o.ServerName = s.Name
	o.Cluster = server.ClusterOpts{
		Name: "chaos", Host: "127.0.0.1", Port: s.ClusterPort,
		// Every route goes through a proxy: one connection per pair, and an
		// address for gossip where nobody listens, so that no server finds
		// a way to another around the proxies.
		PoolSize: -1, Advertise: "127.0.0.1:1",
	}
	o.Routes = server.RoutesFromStr(strings.Join(s.Routes, ","))
	switch s.Sync {
	case "":
	case "always":
		o.SyncAlways = true
	default:
		if o.SyncInterval, err = time.ParseDuration(s.Sync); err != nil {
			return fmt.Errorf("sync %q: %w", s.Sync, err)
		}
	}
	srv, err := server.NewServer(o)
	if err != nil {
		return err
	}
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		return fmt.Errorf("server %s did not start", s.Name)
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	srv.Shutdown()
	srv.WaitForShutdown()
	return nil
}

// proc is one process of the suite, which it may kill, pause, resume and
// start again with the same spec. Each start is a new incarnation.
type proc struct {
	t    testing.TB
	name string
	role string
	spec func(inc int) any // the spec of incarnation inc
	log  *os.File          // standard error of every incarnation

	mu     sync.Mutex
	inc    int
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	exited chan struct{} // closed when the current incarnation has exited
	killed map[int]bool  // incarnations ended by SIGKILL
}

func newProc(t testing.TB, dir, name, role string, spec func(inc int) any) *proc {
	log, err := os.Create(dir + "/" + name + ".stderr")
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, name: name, role: role, spec: spec, log: log, killed: map[int]bool{}}
	t.Cleanup(func() { p.kill(); log.Close() })
	return p
}

// start starts the next incarnation and waits until it is ready.
func (p *proc) start(timeout time.Duration) error {
	p.mu.Lock()
	p.inc++
	spec, err := json.Marshal(p.spec(p.inc))
	if err != nil {
		p.mu.Unlock()
		return err
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), chaosRoleEnv+"="+p.role, chaosSpecEnv+"="+string(spec))
	cmd.Stderr = p.log
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		p.mu.Unlock()
		return err
	}
	exited := make(chan struct{})
	p.cmd, p.stdin, p.exited = cmd, stdin, exited
	p.mu.Unlock()

	ready := make(chan error, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, err := r.ReadString('\n')
		if err == nil && strings.TrimSpace(line) != "ready" {
			err = fmt.Errorf("said %q", line)
		}
		ready <- err
		io.Copy(io.Discard, r)
		cmd.Wait()
		close(exited)
	}()
	select {
	case err := <-ready:
		if err != nil {
			p.kill()
			return fmt.Errorf("%s (incarnation %d) did not start: %v; its standard error ends:\n%s", p.name, p.inc, err, p.logTail())
		}
		return nil
	case <-time.After(timeout):
		p.kill()
		return fmt.Errorf("%s (incarnation %d) not ready after %v; its standard error ends:\n%s", p.name, p.inc, timeout, p.logTail())
	}
}

// logTail returns the last lines of the process's standard error: the
// log lives in the test's TempDir, which is gone when the test fails.
func (p *proc) logTail() string {
	const max = 4 << 10
	b, err := os.ReadFile(p.log.Name())
	if err != nil {
		return err.Error()
	}
	if len(b) > max {
		b = b[len(b)-max:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

// current returns the running incarnation's command and its exit channel.
func (p *proc) current() (*exec.Cmd, chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd, p.exited
}

// kill ends the current incarnation with SIGKILL, and waits for it.
func (p *proc) kill() {
	cmd, exited := p.current()
	if cmd == nil {
		return
	}
	p.mu.Lock()
	p.killed[p.inc] = true
	p.mu.Unlock()
	cmd.Process.Signal(syscall.SIGCONT) // a paused process must die too
	cmd.Process.Kill()
	<-exited
}

func (p *proc) pause()  { p.signal(syscall.SIGSTOP) }
func (p *proc) resume() { p.signal(syscall.SIGCONT) }

func (p *proc) signal(sig syscall.Signal) {
	if cmd, _ := p.current(); cmd != nil {
		cmd.Process.Signal(sig)
	}
}

// send writes a command line to the current incarnation.
func (p *proc) send(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stdin != nil {
		io.WriteString(p.stdin, line+"\n")
	}
}

// stop asks the current incarnation to finish and waits until it has,
// killing it after timeout. It reports whether it stopped by itself.
func (p *proc) stop(timeout time.Duration) bool {
	cmd, exited := p.current()
	if cmd == nil {
		return true
	}
	p.mu.Lock()
	p.stdin.Close()
	p.mu.Unlock()
	select {
	case <-exited:
		return cmd.ProcessState.Success()
	case <-time.After(timeout):
		p.kill()
		return false
	}
}

// wasKilled reports whether incarnation inc ended by SIGKILL.
func (p *proc) wasKilled(inc int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.killed[inc]
}
