package ledger

// witnessPeer is a witness the log pushes its checkpoints to.
type witnessPeer struct{}
