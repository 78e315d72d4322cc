package busview_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/gobus/bus"
	"github.com/gobus/bus/busview"
)

// A live view served beside a service's other debug handlers.
func ExampleNew() {
	gen, _ := bus.NewGenerator(1, time.Time{})
	mux := http.NewServeMux()

	view := busview.New(100)
	b, err := bus.NewBus(gen, bus.WithObserver(view))
	if err != nil {
		panic(err)
	}
	mux.Handle("/debug/bus", view.Handler(b)) // operators only: it shows event data

	b.RegisterTopics("order.created")
	b.Emit(context.Background(), "order.created", "A-1")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/debug/bus?format=json", nil))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	// Output:
	// 200 application/json
}
