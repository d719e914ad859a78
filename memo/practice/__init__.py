"""`memo practice` and `memo questions`: a mock interview in the terminal, scored without a judge,
with memo's own model answer and a follow-up on the weakest part; and the likely questions for a
company and role, each with the passages that ground it. Sessions are saved per candidate and
`memo practice --history` shows scores over time."""
