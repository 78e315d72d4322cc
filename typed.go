package bus

import (
	"errors"
	"fmt"
	"reflect"
)

// ErrDataType is returned, wrapped, when a handler made with [Typed]
// receives an event whose Data is not of the handler's type.
var ErrDataType = errors.New("bus: wrong data type")

// Typed adapts handle, which takes the event's data as a T, to a Handle
// func. When an event's Data is not a T, handle is not called and the
// emitter learns of it: Emit returns a [*PanicError] for the handler's key
// that unwraps to an error wrapping [ErrDataType] and naming both types. Nil
// Data is passed as the zero T if T is an interface, pointer, map, slice,
// channel or func type, and refused otherwise.
func Typed[T any](handle func(e *Event, data T)) func(*Event) {
	want := reflect.TypeFor[T]()
	nilable := false
	switch want.Kind() {
	case reflect.Interface, reflect.Pointer, reflect.Map, reflect.Slice, reflect.Chan, reflect.Func:
		nilable = true
	}
	return func(e *Event) {
		data, ok := e.Data.(T)
		if !ok && !(e.Data == nil && nilable) {
			// Recovered by the bus, which returns it from Emit.
			panic(fmt.Errorf("%w: handler takes %v, event %s on %s carries %T", ErrDataType, want, e.ID, e.Topic, e.Data))
		}
		handle(e, data)
	}
}
