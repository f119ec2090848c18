print("free-agent-controller")
