package benchmarks

import (
	"flag"
	"fmt"
	"os"
	"testing"
)

var listLibraries = flag.Bool("libraries", false, "print the names of the compared libraries and exit")

// TestMain lets ./run ask for the library names, so that it can run each
// library's benchmarks in a process of its own: goroutines an asynchronous
// library leaves behind would otherwise slow down the libraries after it.
func TestMain(m *testing.M) {
	flag.Parse()
	if *listLibraries {
		for _, lib := range libraries {
			fmt.Println(lib.name)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
