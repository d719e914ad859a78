"""`memo ask`: retrieve, select the evidence, say it in the candidate's voice, cite it."""
