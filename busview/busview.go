// Package busview is a live view of a [bus.Bus] for a running service: the
// registered topics, the handlers with their matchers and subscriptions,
// counts per topic and per handler, and the last events.
//
//	view := busview.New(100)                            // keep the last 100 events
//	b, err := bus.NewBus(gen, bus.WithObserver(view))
//	http.Handle("/debug/bus", view.Handler(b))          // HTML; ?format=json for JSON
//
// The page is read-only and reloads itself every 5 seconds (?refresh=0
// turns that off). Its memory is bounded: the counts grow with the topics
// and handler keys seen, the event list holds at most the number given to
// New, newest first in the order the events were emitted. It shows event
// data, formatted with %v and cut to at most 200 bytes, ellipsis included,
// at a character boundary, when the event is emitted, so mount it where
// only operators reach it, as with net/http/pprof.
package busview

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gobus/bus"
)

// maxData is how many bytes of an event's formatted data the view keeps.
const maxData = 200

// View is a [bus.Observer] that keeps what its page shows. Create it with
// [New]. It is safe for concurrent use. Observing takes a mutex once per
// handler call and twice per Emit, and formats the event's data once per
// Emit. A View attached to several buses counts their events together;
// give each bus a View of its own.
type View struct {
	mu       sync.Mutex
	topics   map[string]uint64
	handlers map[string]*HandlerStats
	last     []Event // ring of the last events; next is the oldest
	next     int
	size     int
}

// Event is an event as the view shows it.
type Event struct {
	ID, TxID, Topic, Source string
	OccurredAt              time.Time
	Data                    string // formatted with %v, at most 200 bytes of valid UTF-8, ellipsis included
	Error                   string `json:",omitempty"` // what Emit returned
}

// HandlerStats counts the calls of one handler key.
type HandlerStats struct {
	Calls, Failures uint64
	Total           time.Duration `json:"TotalNanoseconds"` // time spent in the calls
}

// New returns a View that keeps the last n events (at least 1).
func New(n int) *View {
	return &View{topics: map[string]uint64{}, handlers: map[string]*HandlerStats{}, last: make([]Event, max(n, 1))}
}

// EmitStart keeps the event among the last, in the order of emission: an
// event a handler emits comes after its cause, though its Emit finishes
// first. It implements [bus.Observer]; the view adds nothing to the
// context.
func (v *View) EmitStart(ctx context.Context, e *bus.Event) context.Context {
	ev := Event{ID: e.ID, TxID: e.TxID, Topic: e.Topic, Source: e.Source, OccurredAt: time.Unix(0, e.OccurredAt), Data: cut(fmt.Sprint(e.Data), maxData)}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.last[v.next] = ev
	v.next = (v.next + 1) % len(v.last)
	v.size = min(v.size+1, len(v.last))
	return ctx
}

// HandlerStart adds nothing to the call's context. It implements
// [bus.Observer].
func (v *View) HandlerStart(context.Context, *bus.Event, string) context.Context { return nil }

// HandlerDone counts a handler call. It implements [bus.Observer].
func (v *View) HandlerDone(_ context.Context, _ *bus.Event, key string, _ time.Time, took time.Duration, err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	h := v.handlers[key]
	if h == nil {
		h = &HandlerStats{}
		v.handlers[key] = h
	}
	h.Calls++
	h.Total += took
	if err != nil {
		h.Failures++
	}
}

// cut returns s if it has at most max bytes; otherwise as much of it as
// fits in max bytes with an ellipsis, cut at a character boundary so that
// the result stays valid UTF-8. Invalid bytes in s become U+FFFD first.
func cut(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= max {
		return s
	}
	const ellipsis = "…"
	end := max - len(ellipsis)
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end] + ellipsis
}

// EmitDone counts the event and records what its Emit returned. It
// implements [bus.Observer].
func (v *View) EmitDone(_ context.Context, e *bus.Event, err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.topics[e.Topic]++
	if err == nil {
		return
	}
	// Its place, newest first: usually the newest, unless its handlers
	// emitted; gone if they emitted more than the view keeps.
	for i := 1; i <= v.size; i++ {
		if ev := &v.last[(v.next-i+len(v.last))%len(v.last)]; ev.ID == e.ID && ev.Topic == e.Topic {
			ev.Error = err.Error()
			return
		}
	}
}

// Snapshot is what the view shows of a bus at one moment.
type Snapshot struct {
	Topics   []TopicInfo
	Handlers []HandlerInfo
	Events   []Event // newest first, in the order they were emitted
}

// TopicInfo is a registered topic and the events emitted on it.
type TopicInfo struct {
	Name     string
	Emitted  uint64
	Handlers int // handlers subscribed
}

// HandlerInfo is a registered handler, in delivery order.
type HandlerInfo struct {
	Key, Matcher string
	Topics       []string // the registered topics it receives
	HandlerStats
}

// Snapshot returns the state of b and the counts the view has kept.
func (v *View) Snapshot(b *bus.Bus) Snapshot {
	var s Snapshot
	names := b.Topics()
	keys := b.HandlerKeys()
	subs := make([][]string, len(keys))
	matchers := make([]string, len(keys))
	for i, key := range keys {
		subs[i] = b.HandlerTopicSubscriptions(key)
		if h := b.Handler(key); h != nil {
			matchers[i] = h.Matcher
		}
	}
	counts := map[string]int{}
	for _, ts := range subs {
		for _, t := range ts {
			counts[t]++
		}
	}

	v.mu.Lock()
	defer v.mu.Unlock()
	for _, name := range names {
		s.Topics = append(s.Topics, TopicInfo{Name: name, Emitted: v.topics[name], Handlers: counts[name]})
	}
	for i, key := range keys {
		info := HandlerInfo{Key: key, Matcher: matchers[i], Topics: subs[i]}
		if h := v.handlers[key]; h != nil {
			info.HandlerStats = *h
		}
		s.Handlers = append(s.Handlers, info)
	}
	for i := 1; i <= v.size; i++ {
		s.Events = append(s.Events, v.last[(v.next-i+len(v.last))%len(v.last)])
	}
	return s
}

// Handler returns an http.Handler that serves the view of b: an HTML page
// that reloads itself every 5 seconds ("?refresh=0" stops that, or
// "?refresh=N" sets N seconds), or JSON for "?format=json" or a request
// that accepts only application/json. Another format is answered with 400.
// It answers GET and HEAD only.
func (v *View) Handler(b *bus.Bus) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "busview: method not allowed", http.StatusMethodNotAllowed)
			return
		}
		q := r.URL.Query()
		format := q.Get("format")
		if format == "" && r.Header.Get("Accept") == "application/json" {
			format = "json"
		}
		refresh := 5
		if s := q.Get("refresh"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				http.Error(w, fmt.Sprintf("busview: refresh %q: want a number of seconds, 0 for none", s), http.StatusBadRequest)
				return
			}
			refresh = n
		}
		switch format {
		case "json":
			snap := v.Snapshot(b)
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(snap)
		case "", "html":
			snap := v.Snapshot(b)
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			page.Execute(w, struct {
				Snapshot
				Refresh int
			}{snap, refresh})
		default:
			http.Error(w, fmt.Sprintf("busview: unknown format %q: want html or json", format), http.StatusBadRequest)
		}
	})
}

var page = template.Must(template.New("busview").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>bus</title>{{if .Refresh}}
<meta http-equiv="refresh" content="{{.Refresh}}">{{end}}
<style>body{font-family:sans-serif;margin:1em 2em}table{border-collapse:collapse;margin-bottom:1.5em}
td,th{border:1px solid #ccc;padding:2px 8px;text-align:left;vertical-align:top}td.n{text-align:right}</style></head>
<body><h1>bus</h1>
<h2>Topics</h2>
<table><tr><th>topic</th><th>emitted</th><th>handlers</th></tr>
{{range .Topics}}<tr><td>{{.Name}}</td><td class="n">{{.Emitted}}</td><td class="n">{{.Handlers}}</td></tr>
{{end}}</table>
<h2>Handlers, in delivery order</h2>
<table><tr><th>key</th><th>matcher</th><th>topics</th><th>calls</th><th>failures</th><th>time</th></tr>
{{range .Handlers}}<tr><td>{{.Key}}</td><td><code>{{.Matcher}}</code></td><td>{{range .Topics}}{{.}} {{end}}</td><td class="n">{{.Calls}}</td><td class="n">{{.Failures}}</td><td class="n">{{.Total}}</td></tr>
{{end}}</table>
<h2>Last events, newest first</h2>
<table><tr><th>time</th><th>topic</th><th>ID</th><th>TxID</th><th>source</th><th>data</th><th>error</th></tr>
{{range .Events}}<tr><td>{{.OccurredAt.Format "15:04:05.000"}}</td><td>{{.Topic}}</td><td>{{.ID}}</td><td>{{.TxID}}</td><td>{{.Source}}</td><td>{{.Data}}</td><td>{{.Error}}</td></tr>
{{end}}</table>
</body></html>
`))
