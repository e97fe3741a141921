module twotower/bench/bindings-latency

go 1.21

require twotower v0.0.0

replace twotower => ../../../bindings/go
