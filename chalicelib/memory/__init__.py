"""Where runs, trace events, large tool outputs and (later) long-term memory are kept."""
