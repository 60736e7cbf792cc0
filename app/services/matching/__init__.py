"""Housing inventory, eligibility, candidates and matches (DOMAIN 8 and 9). Above the queue:
it reads queue entries (their facts and priority key) and writes their referral status."""
