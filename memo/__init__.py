"""memo: answer job-interview questions grounded in a company's and a role's own documents."""

__version__ = "0.1.0"
