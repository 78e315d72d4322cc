module github.com/gobus/bus

go 1.24
