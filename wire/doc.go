// Package wire holds every type that crosses a process boundary between the
// student agent, the server and the professor console: REST bodies, error
// documents, monitoring hints, signaling messages and remote-control events.
//
// It is the one home of the protocol; it imports nothing from the rest of the
// module so every other package may depend on it. JSON fields are snake_case.
package wire

// ProtocolVersion is carried by signaling messages and the agent's User-Agent
// so that old agents and new servers can tell each other apart.
// History:
//
//	1 (2026-11): first version.
const ProtocolVersion = 1
