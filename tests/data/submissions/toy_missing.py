def totl(xs):
    return sum(xs)
