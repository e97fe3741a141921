module twotower

go 1.21
