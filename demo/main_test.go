package main

import (
	"bytes"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gobus/bus/bustest"
	"github.com/gobus/bus/demo/events"
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

// TestOrdersAreNumberedOn: the live view's orders continue the run's
// numbering instead of repeating the first ID.
func TestOrdersAreNumberedOn(t *testing.T) {
	rec := bustest.Record(t, events.Bus, `^order\.created$`)
	rng := rand.New(rand.NewPCG(1, 2))
	for first := 51; first <= 53; first++ {
		if _, err := emitOrders(first, 1, rng); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	for _, e := range rec.Wait(3, time.Second) {
		ids = append(ids, e.Data.(events.Order).ID)
	}
	if want := []string{"A-0051", "A-0052", "A-0053"}; !slices.Equal(ids, want) {
		t.Errorf("order IDs %q; want %q", ids, want)
	}
}
