package busview_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gobus/bus"
	"github.com/gobus/bus/busview"
)

func newBus(t *testing.T, view *busview.View) *bus.Bus {
	t.Helper()
	var mu sync.Mutex
	n := 0
	b, err := bus.NewBus(bus.Next(func() string { mu.Lock(); defer mu.Unlock(); n++; return fmt.Sprint("e", n) }), bus.WithObserver(view))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.RegisterTopics("order.created", "order.paid", "idle"); err != nil {
		t.Fatal(err)
	}
	b.RegisterHandler("all", &bus.Handler{Matcher: "^order", Handle: func(*bus.Event) {}})
	b.RegisterHandler("ledger", &bus.Handler{Matcher: `^order\.paid$`, HandleErr: func(e *bus.Event) error {
		if e.Data == "bounce" {
			return errors.New("declined")
		}
		return nil
	}})
	b.RegisterHandler("nothing", &bus.Handler{Matcher: "^none$", Handle: func(*bus.Event) {}})
	return b
}

func get(t *testing.T, h http.Handler, target string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Result(), string(body)
}

func TestJSON(t *testing.T) {
	view := busview.New(2)
	b := newBus(t, view)
	for _, ev := range []struct{ topic, data string }{{"order.created", "A-1"}, {"order.paid", "bounce"}, {"order.paid", "ok"}} {
		b.Emit(context.Background(), ev.topic, ev.data)
	}
	resp, body := get(t, view.Handler(b), "/debug/bus?format=json")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var snap busview.Snapshot
	if err := json.Unmarshal([]byte(body), &snap); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, `"TotalNanoseconds":`) {
		t.Errorf("JSON names no unit for the handlers' time: %s", body)
	}
	wantTopics := []busview.TopicInfo{{"idle", 0, 0}, {"order.created", 1, 1}, {"order.paid", 2, 2}}
	if fmt.Sprint(snap.Topics) != fmt.Sprint(wantTopics) {
		t.Errorf("Topics = %v; want %v", snap.Topics, wantTopics)
	}
	tests := []struct {
		key, matcher    string
		topics          []string
		calls, failures uint64
	}{
		{"all", "^order", []string{"order.created", "order.paid"}, 3, 0},
		{"ledger", `^order\.paid$`, []string{"order.paid"}, 2, 1},
		{"nothing", "^none$", []string{}, 0, 0},
	}
	if len(snap.Handlers) != len(tests) {
		t.Fatalf("Handlers = %+v; want %d", snap.Handlers, len(tests))
	}
	for i, tt := range tests {
		h := snap.Handlers[i]
		if h.Key != tt.key || h.Matcher != tt.matcher || fmt.Sprint(h.Topics) != fmt.Sprint(tt.topics) || h.Calls != tt.calls || h.Failures != tt.failures {
			t.Errorf("Handlers[%d] = %+v; want %+v", i, h, tt)
		}
	}
	// Only the last two events, newest first, with the failure.
	if len(snap.Events) != 2 || snap.Events[0].ID != "e3" || snap.Events[1].ID != "e2" ||
		snap.Events[1].Error != `bus: handler "ledger" failed: declined` || snap.Events[1].Data != "bounce" {
		t.Errorf("Events = %+v; want e3, then e2 with the ledger's error", snap.Events)
	}
}

func TestHTMLEscapesAndLimits(t *testing.T) {
	view := busview.New(10)
	b := newBus(t, view)
	b.Emit(context.Background(), "order.created", "<script>alert(1)</script>")
	b.Emit(context.Background(), "order.created", strings.Repeat("x", 1000))
	resp, body := get(t, view.Handler(b), "/debug/bus")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "<td>order.paid</td>", "<code>^order\\.paid$</code>", strings.Repeat("x", 197) + "…"} {
		if !strings.Contains(body, want) {
			t.Errorf("page does not contain %q", want)
		}
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, strings.Repeat("x", 201)) {
		t.Error("page holds unescaped or uncut data")
	}

	rec := httptest.NewRecorder()
	view.Handler(b).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/debug/bus", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST = %d; want 405", rec.Code)
	}
}

// TestServeWhileEmitting reads the view while other goroutines emit and
// register; -race checks it.
func TestServeWhileEmitting(t *testing.T) {
	view := busview.New(5)
	b := newBus(t, view)
	srv := httptest.NewServer(view.Handler(b))
	defer srv.Close()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				b.Emit(context.Background(), "order.created", i)
				if i%50 == 0 {
					key := fmt.Sprint("h", g, i)
					b.RegisterHandler(key, &bus.Handler{Matcher: "order", Handle: func(*bus.Event) {}})
					b.DeregisterHandler(key)
				}
			}
		}()
	}
	for range 20 {
		resp, err := http.Get(srv.URL + "?format=json")
		if err != nil {
			t.Fatal(err)
		}
		var snap busview.Snapshot
		if err := json.NewDecoder(resp.Body).Decode(&snap); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	wg.Wait()
	if snap := view.Snapshot(b); snap.Topics[1].Emitted != 800 || len(snap.Events) != 5 {
		t.Errorf("after 800 emits: order.created emitted %d, %d events kept; want 800 and 5", snap.Topics[1].Emitted, len(snap.Events))
	}
}
