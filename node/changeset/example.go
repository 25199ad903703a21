package changeset

// UsersExample is the changeset of the worked example in docs/spec/changeset.md:
// table users(id INTEGER PRIMARY KEY, username TEXT, age INTEGER) holding
// (1,'satoshi',42), (2,'vitalik',30), (3,'hal',78), (5,'nick',61), then one
// block running
//
//	INSERT INTO users VALUES (4,'eth_maxi',44);
//	UPDATE users SET age = age + 1 WHERE username = 'satoshi';
//	DELETE FROM users WHERE age > 50;
//
// It is exported so the SQL layer's test can compare what SQLite really
// reports against the same expectation.
func UsersExample() *Changeset {
	return &Changeset{Records: []Record{
		{Op: OpUpdate, Table: "users", Values: []any{int64(1)}, Changed: []Column{{Index: 2, Value: int64(43)}}},
		{Op: OpDelete, Table: "users", Values: []any{int64(3)}},
		{Op: OpInsert, Table: "users", Values: []any{int64(4), "eth_maxi", int64(44)}},
		{Op: OpDelete, Table: "users", Values: []any{int64(5)}},
	}}
}

// UsersExampleHex and UsersExampleHash are the pinned encoding and SHA-256 of
// UsersExample, also printed in docs/spec/changeset.md.
const (
	UsersExampleHex  = "494443530100000004020005757365727300010100000000000000010001000201000000000000002b030005757365727300010100000000000000030100057573657273000301000000000000000402000000086574685f6d61786901000000000000002c03000575736572730001010000000000000005"
	UsersExampleHash = "1c212f6f6ba1a8cdf1fa88d418085a40981f325c109f4c870d097eaa71896a23"
)
