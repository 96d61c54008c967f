"""Operations tooling: post-deploy verification, backup job assets."""
