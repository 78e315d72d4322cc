package busview_test

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gobus/bus"
	"github.com/gobus/bus/busview"
)

// page is the HTML page as a parser reads it: each table's rows of cell
// texts, under the heading before it, and the refresh it asks for.
type page struct {
	tables  map[string][][]string
	refresh string // the meta refresh's content; "" without one
}

// parsePage reads body with encoding/xml in its lenient HTML mode, a real
// tokenizer rather than string matching.
func parsePage(t *testing.T, body string) page {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(body))
	d.Strict, d.AutoClose, d.Entity = false, xml.HTMLAutoClose, xml.HTMLEntity
	p := page{tables: map[string][][]string{}}
	var heading, text strings.Builder
	var inHeading, inCell bool
	var rows [][]string
	var row []string
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return p
		}
		if err != nil {
			t.Fatalf("parsing the page: %v\n%s", err, body)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			switch tok.Name.Local {
			case "h2":
				inHeading = true
				heading.Reset()
			case "table":
				rows = nil
			case "tr":
				row = nil
			case "td", "th":
				inCell = true
				text.Reset()
			case "meta":
				for _, a := range tok.Attr {
					if a.Name.Local == "content" && slices.ContainsFunc(tok.Attr, func(a xml.Attr) bool { return a.Name.Local == "http-equiv" && a.Value == "refresh" }) {
						p.refresh = a.Value
					}
				}
			}
		case xml.EndElement:
			switch tok.Name.Local {
			case "h2":
				inHeading = false
			case "td", "th":
				inCell = false
				row = append(row, strings.TrimSpace(text.String()))
			case "tr":
				rows = append(rows, row)
			case "table":
				p.tables[heading.String()] = rows
			}
		case xml.CharData:
			if inHeading {
				heading.Write(tok)
			}
			if inCell {
				text.Write(tok)
			}
		}
	}
}

// TestPage reads the page with a parser: the events newest first in the
// order they were emitted (an event a handler emits after its cause),
// the error of the Emit that failed, escaped data, and the refresh.
func TestPage(t *testing.T) {
	view := busview.New(10)
	b := newBus(t, view)
	b.RegisterHandler("payer", &bus.Handler{Matcher: `^order\.created$`, Handle: func(e *bus.Event) {
		b.Emit(e.Context(), "order.paid", "bounce") // fails in ledger
	}})
	b.Emit(context.Background(), "order.created", "<b>A-1</b>")

	_, body := get(t, view.Handler(b), "/debug/bus")
	p := parsePage(t, body)
	events := p.tables["Last events, newest first"]
	if len(events) != 3 {
		t.Fatalf("events table = %q; want a header and 2 rows", events)
	}
	// time, topic, ID, TxID, source, data, error
	if got := events[1][1:]; !slices.Equal(got, []string{"order.paid", "e2", "e1", "", "bounce", `bus: handler "ledger" failed: declined`}) {
		t.Errorf("newest event row = %q; want the follow-up order.paid with its error", got)
	}
	if got := events[2][1:]; !slices.Equal(got, []string{"order.created", "e1", "e1", "", "<b>A-1</b>", ""}) {
		t.Errorf("older event row = %q; want its cause, order.created, data as text", got)
	}
	if p.refresh != "5" {
		t.Errorf("refresh = %q; want 5 seconds", p.refresh)
	}
	_, body = get(t, view.Handler(b), "/debug/bus?refresh=0")
	if p := parsePage(t, body); p.refresh != "" {
		t.Errorf("?refresh=0: refresh = %q; want none", p.refresh)
	}
}

func TestBadQueries(t *testing.T) {
	view := busview.New(1)
	b := newBus(t, view)
	tests := []struct{ target, want string }{
		{"/debug/bus?format=xml", `busview: unknown format "xml": want html or json`},
		{"/debug/bus?refresh=soon", `busview: refresh "soon": want a number of seconds, 0 for none`},
	}
	for _, tt := range tests {
		resp, body := get(t, view.Handler(b), tt.target)
		if resp.StatusCode != http.StatusBadRequest || strings.TrimSpace(body) != tt.want {
			t.Errorf("GET %s = %d %q; want 400 %q", tt.target, resp.StatusCode, body, tt.want)
		}
	}
}
