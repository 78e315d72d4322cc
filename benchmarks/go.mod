module github.com/gobus/bus/benchmarks

go 1.24

// Development uses the root module of this checkout; dependents, for whom
// replace directives do not apply, get the version required below.
replace github.com/gobus/bus => ../

require (
	github.com/ThreeDotsLabs/watermill v1.5.1
	github.com/asaskevich/EventBus v0.0.0-20200907212545-49d423059eef
	github.com/cskr/pubsub/v2 v2.0.2
	github.com/gobus/bus v0.1.0
	github.com/gookit/event v1.2.0
	github.com/kataras/go-events v0.0.3
	github.com/kelindar/event v1.5.2
	github.com/leandro-lugaresi/hub v1.1.2
	github.com/maniartech/signals v1.3.1
	github.com/mustafaturan/bus v1.0.2
	github.com/mustafaturan/bus/v3 v3.0.3
	github.com/mustafaturan/monoton/v3 v3.0.0
	github.com/olebedev/emitter v0.0.0-20230411050614-349169dec2ba
	github.com/vardius/message-bus v1.1.5
	github.com/werbenhu/eventbus v1.0.8
)

require (
	github.com/google/uuid v1.6.0 // indirect
	github.com/gookit/goutil v0.7.1 // indirect
	github.com/lithammer/shortuuid/v3 v3.0.7 // indirect
	github.com/oklog/ulid v1.3.1 // indirect
	github.com/pkg/errors v0.9.1 // indirect
)
