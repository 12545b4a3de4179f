"""(being written)"""

from __future__ import annotations

from fastapi import APIRouter

from api.schemas import PROBLEMS

router = APIRouter(tags=["calls"], responses=PROBLEMS)
