module github.com/corsia-cce/corsia

go 1.26
