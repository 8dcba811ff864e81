"""How a person proves who they are: the login pages and steps, the login record, step-up."""
