# expect: Time Limit Exceeded
# message: while importing your file
"""An infinite loop while the module is imported."""
while True:
    pass
