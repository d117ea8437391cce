"""Everything that speaks SQL. Nothing outside this package imports sqlalchemy."""
