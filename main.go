// Command corsia runs the Corsia clinical record: the mobile API, the workers,
// migrations, fixtures and the audit-chain verifier.
package main

func main() {}
