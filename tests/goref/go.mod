module gmpbench/goref

go 1.19
