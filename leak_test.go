package bus_test

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run if goroutines of this module (an Async's workers,
// above all) are still running after the tests: every one must be
// stopped by whoever started it. It does what go.uber.org/goleak does,
// with the standard library, as the core module depends on monoton alone.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if left := leftRunning(5 * time.Second); left != "" {
			fmt.Fprintf(os.Stderr, "goroutines still running after the tests:\n\n%s\n", left)
			code = 1
		}
	}
	os.Exit(code)
}

// leftRunning waits up to d for every goroutine that runs this module's
// code, or was started by it, to return, and returns the stacks of those
// that did not.
func leftRunning(d time.Duration) string {
	deadline := time.Now().Add(d)
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		var left []string
		for _, g := range strings.Split(string(buf[:n]), "\n\n") {
			if strings.Contains(g, "github.com/gobus/bus") && !strings.Contains(g, "bus_test.TestMain") && !strings.Contains(g, "bus_test.leftRunning") {
				left = append(left, g)
			}
		}
		if len(left) == 0 {
			return ""
		}
		if time.Now().After(deadline) {
			return strings.Join(left, "\n\n")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
