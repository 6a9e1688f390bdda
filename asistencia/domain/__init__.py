"""Pure domain logic of the attendance loop: plain data in, plain data out, no I/O."""
