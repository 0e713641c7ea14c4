/* PLACEHOLDER */
#pragma once
