"""The node's front ends, one package or module per dialect. A front end only translates between its wire
format and a query or a write call, and renders answers and errors in its own terms."""
