// Command modproxy serves this repository's modules, as committed, from a
// directory laid out as a Go module proxy (GOPROXY=file:///DIR), so that CI
// can check that a module outside the repository fetches and builds them
// at a release version, without the replace directives that only work
// inside the repository.
//
//	modproxy -out DIR -version v0.1.0 . natsbus busotel
//
// Each argument is a module directory relative to the repository root. Like
// the public proxy, it zips the committed tree of each module without the
// modules nested in it, and adds the repository's LICENSE to a nested module
// that has none of its own.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"
)

func main() {
	out := flag.String("out", "", "directory to write the proxy into")
	version := flag.String("version", "v0.1.0", "version to publish the modules as")
	flag.Parse()
	if *out == "" || flag.NArg() == 0 {
		log.Fatal("usage: modproxy -out DIR [-version V] MODULE_DIR...")
	}
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		log.Fatal(err)
	}
	root := string(bytes.TrimSpace(top))
	for _, dir := range flag.Args() {
		if err := publish(root, filepath.Clean(dir), *version, *out); err != nil {
			log.Fatalf("modproxy: %s: %v", dir, err)
		}
	}
}

// publish writes the proxy files of the module in dir: list, .info, .mod
// and .zip.
func publish(root, dir, version, out string) error {
	tree, err := os.MkdirTemp("", "modproxy")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tree)
	// The committed tree only: no build outputs, no uncommitted changes.
	archive := exec.Command("git", "-C", root, "archive", "--format=tar", "HEAD", dir)
	extract := exec.Command("tar", "-x", "-C", tree)
	extract.Stdin, _ = archive.StdoutPipe()
	if err := extract.Start(); err != nil {
		return err
	}
	if err := archive.Run(); err != nil {
		return fmt.Errorf("git archive: %w", err)
	}
	if err := extract.Wait(); err != nil {
		return fmt.Errorf("tar: %w", err)
	}
	modDir := filepath.Join(tree, dir)
	if _, err := os.Stat(filepath.Join(modDir, "LICENSE")); os.IsNotExist(err) {
		license, err := os.ReadFile(filepath.Join(root, "LICENSE"))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(modDir, "LICENSE"), license, 0o644); err != nil {
			return err
		}
	}

	gomod, err := os.ReadFile(filepath.Join(modDir, "go.mod"))
	if err != nil {
		return err
	}
	path := modfile.ModulePath(gomod)
	escaped, err := module.EscapePath(path)
	if err != nil {
		return err
	}
	vdir := filepath.Join(out, escaped, "@v")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		return err
	}
	info, _ := json.Marshal(struct {
		Version string
		Time    time.Time
	}{version, time.Now().UTC()})
	var zipped bytes.Buffer
	if err := zip.CreateFromDir(&zipped, module.Version{Path: path, Version: version}, modDir); err != nil {
		return err
	}
	files := map[string][]byte{
		"list":            []byte(version + "\n"),
		version + ".info": info,
		version + ".mod":  gomod,
		version + ".zip":  zipped.Bytes(),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(vdir, name), data, 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("%s@%s: %d bytes\n", path, version, zipped.Len())
	return nil
}
