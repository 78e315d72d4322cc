module github.com/gobus/bus

go 1.24

require github.com/mustafaturan/monoton/v3 v3.0.0
