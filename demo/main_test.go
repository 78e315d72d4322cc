package main

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestRunAccountsForEveryEvent(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out, 50, 7, false); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	m := regexp.MustCompile(`(\d+) events in`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no event total in:\n%s", text)
	}
	total, _ := strconv.Atoi(m[1])
	if printed := strings.Count(text, " id="); printed != total {
		t.Errorf("printer wrote %d events; summary says %d", printed, total)
	}
	counts := regexp.MustCompile(`(?m)^  order\.\w+\s+(\d+)$`).FindAllStringSubmatch(text, -1)
	sum := 0
	for _, c := range counts {
		n, _ := strconv.Atoi(c[1])
		sum += n
	}
	if sum != total {
		t.Errorf("counter counted %d events; want %d", sum, total)
	}
	if !regexp.MustCompile(`created\s+50 orders`).MatchString(text) {
		t.Errorf("calculator does not report 50 created orders:\n%s", text)
	}
}
